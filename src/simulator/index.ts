export { SimulatedPlug, type SimulatedPlugEvents } from './plug';
export { SetupMode, SimulatedMqtt, type MqttState } from './mqtt';
export type { MidnightMode } from './types';
export type {
  ConsumptionEntry,
  Fault,
  Firmware,
  Model,
  MqttSettings,
  OverTempState,
  OverTempType,
  Readings,
  RequestRecord,
  SimulatorOptions,
  ToggleEvent,
  ToggleSource,
} from './types';
export { stripChannelNames } from './profiles/strip';
