// Renders the Kustomize base and the example overlay with `kubectl kustomize` (offline) and
// validates every object: built-in kinds against the Kubernetes OpenAPI schemas of the
// `kubernetes-models` package, custom resources (KEDA, CloudNativePG, redis-operator,
// Prometheus Operator) against the fields their operators require, then the properties
// the issue asks for (probes, resources, autoscaling, disruption budget, policies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireTool, yaml } from './promql.ts';

interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // The shape differs per kind; the checks below narrow it.
  spec?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  [key: string]: unknown;
}

const install = 'kubectl ships with the machine image; see docs/operations.md';

function render(path: string): KubernetesObject[] {
  const result = spawnSync('kubectl', ['kustomize', path], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.equal(result.status, 0, result.stderr);
  return yaml.loadAll(result.stdout).filter((document) => document !== null) as KubernetesObject[];
}

const builtInGroups = new Set(['v1', 'apps/v1', 'autoscaling/v2', 'policy/v1', 'networking.k8s.io/v1']);

async function validateBuiltIn(object: KubernetesObject): Promise<void> {
  if (object.kind === 'Secret' && object.data) {
    // kustomize wraps long base64 values over lines; the API server's decoder skips the line
    // breaks, the schema's "byte" format does not, so compare without them.
    const data = object.data as Record<string, string>;
    object = { ...object, data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.replace(/\s+/g, '')])) };
  }
  const module = (await import(`kubernetes-models/${object.apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  assert.ok(Model, `kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

function required(object: KubernetesObject, path: string): unknown {
  let value: unknown = object;
  for (const key of path.split('.')) {
    assert.ok(value !== null && typeof value === 'object' && key in value, `${object.kind}/${object.metadata.name}: missing ${path}`);
    value = (value as Record<string, unknown>)[key];
  }
  assert.ok(value !== undefined && value !== null && value !== '', `${object.kind}/${object.metadata.name}: empty ${path}`);
  return value;
}

const scalerFields: Record<string, string[]> = {
  'nats-jetstream': ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold'],
  prometheus: ['serverAddress', 'query', 'threshold'],
  cpu: ['value'],
};

function validateCustom(object: KubernetesObject, all: KubernetesObject[]): void {
  const key = `${object.apiVersion} ${object.kind}`;
  switch (key) {
    case 'keda.sh/v1alpha1 ScaledObject': {
      const target = required(object, 'spec.scaleTargetRef.name');
      assert.ok(all.some((other) => other.kind === 'Deployment' && other.metadata.name === target), `ScaledObject ${object.metadata.name} targets missing ${target}`);
      const triggers = required(object, 'spec.triggers') as { type: string; metadata: Record<string, string>; metricType?: string }[];
      assert.ok(triggers.length > 0);
      const minimum = object.spec!.minReplicaCount as number;
      const maximum = object.spec!.maxReplicaCount as number;
      assert.ok(Number.isInteger(minimum) && Number.isInteger(maximum) && minimum >= 1 && maximum >= minimum, `${object.metadata.name}: replica bounds`);
      for (const trigger of triggers) {
        const fields = scalerFields[trigger.type];
        assert.ok(fields, `${object.metadata.name}: unknown KEDA trigger ${trigger.type}`);
        for (const field of fields) assert.ok(typeof trigger.metadata?.[field] === 'string' && trigger.metadata[field] !== '', `${object.metadata.name}: ${trigger.type} needs metadata.${field} as a string`);
        if (trigger.type === 'cpu') assert.ok(['Utilization', 'AverageValue'].includes(trigger.metricType ?? ''), 'cpu trigger needs metricType');
      }
      assert.ok(triggers.some((trigger) => trigger.type === 'nats-jetstream'), `${object.metadata.name}: no JetStream lag trigger`);
      break;
    }
    case 'postgresql.cnpg.io/v1 Cluster':
      assert.ok((required(object, 'spec.instances') as number) >= 2, 'PostgreSQL needs a primary and a replica');
      required(object, 'spec.storage.size');
      break;
    case 'redis.redis.opstreelabs.in/v1beta2 Redis':
      required(object, 'spec.kubernetesConfig.image');
      break;
    case 'monitoring.coreos.com/v1 PodMonitor': {
      required(object, 'spec.selector.matchLabels');
      const endpoints = required(object, 'spec.podMetricsEndpoints') as { port: string }[];
      for (const endpoint of endpoints) assert.equal(endpoint.port, 'ops');
      break;
    }
    default:
      assert.fail(`no validation for ${key} (${object.metadata.name})`);
  }
}

function podSpecs(objects: KubernetesObject[]) {
  return objects.filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet').map((object) => ({ object, pod: object.spec!.template.spec }));
}

for (const path of ['deploy/k8s/base', 'deploy/k8s/overlays/example']) {
  test(`${path}: every rendered object validates`, async (t) => {
    if (!requireTool(t, 'kubectl', install, ['version', '--client'])) return;
    const objects = render(path);
    assert.ok(objects.length >= 20, `only ${objects.length} objects`);
    for (const object of objects) {
      assert.ok(object.metadata?.name, `${object.kind} without a name`);
      if (builtInGroups.has(object.apiVersion)) await validateBuiltIn(object);
      else validateCustom(object, objects);
    }
  });
}

test('roles, probes, resources, autoscaling, disruption budget and policies are as designed', (t) => {
  if (!requireTool(t, 'kubectl', install, ['version', '--client'])) return;
  const objects = render('deploy/k8s/overlays/example');
  const find = (kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata.name === name);

  for (const role of ['gateway', 'market-data', 'ledger', 'notifier']) assert.ok(find('Deployment', `bourse-${role}`), `Deployment bourse-${role}`);
  const engine = find('StatefulSet', 'bourse-engine');
  assert.ok(engine, 'engine StatefulSet');
  assert.equal(engine.spec!.replicas, 2, 'engine leader + standby');

  for (const { object, pod } of podSpecs(objects)) {
    for (const container of pod.containers) {
      const where = `${object.kind}/${object.metadata.name}`;
      assert.equal(container.livenessProbe?.httpGet?.path, '/healthz', `${where} liveness`);
      assert.equal(container.readinessProbe?.httpGet?.path, '/readyz', `${where} readiness`);
      for (const kind of ['requests', 'limits']) for (const resource of ['cpu', 'memory']) assert.ok(container.resources?.[kind]?.[resource], `${where} ${kind}.${resource}`);
      assert.equal(container.image, 'registry.example.com/bourse:0.1.0', `${where} image from the overlay`);
      assert.ok(container.env.some((variable: { name: string; value?: string }) => variable.name === 'BOURSE_ROLE'), `${where} BOURSE_ROLE`);
      assert.ok(container.ports.some((port: { containerPort: number }) => port.containerPort === 9464), `${where} metrics port`);
      for (const source of container.envFrom ?? []) {
        if (source.secretRef) assert.ok(find('Secret', source.secretRef.name), `${where} references missing Secret ${source.secretRef.name}`);
        if (source.configMapRef) assert.ok(find('ConfigMap', source.configMapRef.name), `${where} references missing ConfigMap ${source.configMapRef.name}`);
      }
    }
    assert.equal(object.spec!.template.metadata.annotations['prometheus.io/port'], '9464');
    assert.equal(object.spec!.template.metadata.labels['app.kubernetes.io/name'], 'bourse', 'pods carry the label the policies and PodMonitor select');
  }

  const budget = objects.find((object) => object.kind === 'PodDisruptionBudget' && object.spec!.selector.matchLabels['app.kubernetes.io/component'] === 'engine');
  assert.ok(budget, 'engine PodDisruptionBudget');
  assert.equal(budget.spec!.minAvailable, 1);

  const autoscaler = find('HorizontalPodAutoscaler', 'bourse-gateway');
  assert.ok(autoscaler);
  assert.equal(autoscaler.spec!.scaleTargetRef.name, 'bourse-gateway');
  const metricKinds = autoscaler.spec!.metrics.map((metric: { type: string; resource?: { name: string }; pods?: { metric: { name: string } } }) => metric.resource?.name ?? metric.pods?.metric.name);
  assert.deepEqual(metricKinds, ['cpu', 'bourse_http_requests_per_second']);
  assert.equal(autoscaler.spec!.minReplicas, 3, 'overlay patch applied');

  for (const consumer of ['ledger', 'market-data', 'notifier']) {
    const scaled = find('ScaledObject', `bourse-${consumer}`);
    assert.ok(scaled, `ScaledObject for ${consumer}`);
    const natsTrigger = scaled.spec!.triggers.find((trigger: { type: string }) => trigger.type === 'nats-jetstream');
    assert.equal(natsTrigger.metadata.consumer, consumer);
    assert.ok(!objects.some((object) => object.kind === 'HorizontalPodAutoscaler' && object.spec!.scaleTargetRef.name === `bourse-${consumer}`), `${consumer} has an HPA besides KEDA's`);
  }

  const policies = objects.filter((object) => object.kind === 'NetworkPolicy');
  assert.ok(policies.some((policy) => policy.spec!.policyTypes.includes('Ingress') && policy.spec!.policyTypes.includes('Egress') && !policy.spec!.ingress && !policy.spec!.egress), 'a default-deny policy');
  assert.ok(policies.some((policy) => JSON.stringify(policy.spec!.ingress ?? []).includes('9464')), 'metrics port open to monitoring');

  for (const object of objects) {
    if (object.kind === 'Namespace') continue;
    assert.equal(object.metadata.namespace, 'bourse', `${object.kind}/${object.metadata.name} namespace`);
  }
  for (const kind of ['Cluster', 'Redis']) assert.ok(objects.some((object) => object.kind === kind), `operator resource ${kind}`);
});
