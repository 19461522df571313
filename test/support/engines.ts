// The engines every shared suite runs against: the plain reference engine always, and the
// fast engine (src/engine/engine.ts) once that file exists. TEST_ENGINES=reference,fast
// narrows the list.
import { existsSync } from 'node:fs';
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

const fastEnginePath = new URL('../../src/engine/engine.ts', import.meta.url);

async function loadFastFactory(): Promise<EngineFactory | null> {
  if (!existsSync(fastEnginePath)) return null;
  const module = (await import(fastEnginePath.href)) as { Engine: new (limits?: EngineLimits) => MatchingEngine };
  return { name: 'fast', create: (limits = defaultEngineLimits) => new module.Engine(limits) };
}

const selected = (process.env.TEST_ENGINES ?? 'reference,fast').split(',').map((name) => name.trim());

/** The fast engine's factory, or null while src/engine/engine.ts does not exist. */
export const fastFactory: EngineFactory | null = selected.includes('fast') ? await loadFastFactory() : null;

/** The factories the shared suites run, in a fixed order (reference first). */
export const engineFactories: EngineFactory[] = [referenceFactory, ...(fastFactory ? [fastFactory] : [])].filter((factory) =>
  selected.includes(factory.name),
);
