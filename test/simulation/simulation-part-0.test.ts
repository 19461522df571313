// Seeded simulation, part 1 of 4 (the parts split the seeds so the test runner can run
// them in parallel). See test/support/simulation.ts; SIM_SEED, SIM_SEEDS, SIM_SEED_START
// and SIM_COMMANDS reproduce a failure or run more.
import { registerSimulationPart } from '../support/simulation.ts';

registerSimulationPart(0, 4);
