export { SimulatedPlug, type SimulatedPlugEvents } from './plug';
export { SetupMode, SimulatedMqtt, type MqttState } from './mqtt';
export type {
  ConsumptionEntry,
  Fault,
  Firmware,
  MqttSettings,
  Readings,
  RequestRecord,
  SimulatorOptions,
  ToggleEvent,
  ToggleSource,
} from './types';
