export { SimulatedPlug, type SimulatedPlugEvents } from './plug';
export type {
  ConsumptionEntry,
  Fault,
  Firmware,
  Readings,
  RequestRecord,
  SimulatorOptions,
  ToggleEvent,
  ToggleSource,
} from './types';
