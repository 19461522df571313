// The notifier role's public surface: the event consumer and its inbox/webhook routes.
export { startNotifier, notifierConsumerName, type Notifier, type NotifierDeps } from './notifier.ts';
export { registerNotificationRoutes, notificationLimits, inboxVersionKey, type NotificationRouteDeps } from './inbox.ts';
export { signWebhookBody, webhookHeaders, defaultWebhookLimits, type HttpFetch, type WebhookLimits } from './webhooks.ts';
export { UserEventTranslator, stpModeName } from './user-events.ts';
