// The engines every shared suite runs against: the plain reference engine and the fast
// engine (src/engine/engine.ts). TEST_ENGINES=reference or TEST_ENGINES=fast narrows the
// list (for example while debugging one of them); the default is both.
import { Engine } from '../../src/engine/engine.ts';
import type { EngineLimits, MatchingEngine } from '../../src/engine/types.ts';
import { defaultEngineLimits } from '../../src/engine/types.ts';
import { ReferenceEngine } from './reference-engine.ts';

export interface EngineFactory {
  name: string;
  create(limits?: EngineLimits): MatchingEngine;
}

export const referenceFactory: EngineFactory = {
  name: 'reference',
  create: (limits = defaultEngineLimits) => new ReferenceEngine(limits),
};

const selected = (process.env.TEST_ENGINES ?? 'reference,fast').split(',').map((name) => name.trim());

/** The fast engine's factory, or null when TEST_ENGINES leaves it out. */
export const fastFactory: EngineFactory | null = selected.includes('fast')
  ? { name: 'fast', create: (limits = defaultEngineLimits) => new Engine(limits) }
  : null;

/** The factories the shared suites run, in a fixed order (reference first). */
export const engineFactories: EngineFactory[] = [
  ...(selected.includes('reference') ? [referenceFactory] : []),
  ...(fastFactory ? [fastFactory] : []),
];
