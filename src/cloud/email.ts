/**
 * The one e-mail check of the plugin (config, `meross-lan login`, the settings UI): something@something without
 * spaces. The cloud says the rest (1005 invalid email, 1008 not registered).
 */
export function isEmailAddress(text: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(text.trim());
}
