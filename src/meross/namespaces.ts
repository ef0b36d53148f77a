/**
 * The Meross namespaces this project speaks, named once (protocol.md §3): the client, the push hub and the
 * simulator use these constants, so a typo is a compile error rather than a request the plug never answers.
 */
export const SYSTEM_ALL = 'Appliance.System.All';
export const SYSTEM_ABILITY = 'Appliance.System.Ability';
export const SYSTEM_TIME = 'Appliance.System.Time';
export const DNDMODE = 'Appliance.System.DNDMode';
export const RUNTIME = 'Appliance.System.Runtime';
export const CLOCK = 'Appliance.System.Clock';
export const REPORT = 'Appliance.System.Report';
export const ONLINE = 'Appliance.System.Online';
export const TOGGLEX = 'Appliance.Control.ToggleX';
export const TOGGLE = 'Appliance.Control.Toggle';
export const MULTIPLE = 'Appliance.Control.Multiple';
export const ELECTRICITY = 'Appliance.Control.Electricity';
export const CONSUMPTIONX = 'Appliance.Control.ConsumptionX';
export const CONSUMPTION_CONFIG = 'Appliance.Control.ConsumptionConfig';
export const BIND = 'Appliance.Control.Bind';
export const CONFIG_KEY = 'Appliance.Config.Key';
export const CONFIG_WIFI = 'Appliance.Config.Wifi';
export const CONFIG_WIFI_LIST = 'Appliance.Config.WifiList';
export const ENCRYPT_ECDHE = 'Appliance.Encrypt.ECDHE';
export const OVERTEMP = 'Appliance.Control.OverTemp';
