/**
 * The Home app rejects, or silently misbehaves with, names that do not start and end with a letter or number
 * or that contain other symbols (HAP-NodeJS's checkName). Users type anything into config.json, so the name
 * we give HomeKit is cleaned: disallowed characters become spaces, and the ends are trimmed to a letter/number.
 */
const ALLOWED = /[^\p{L}\p{N}\p{Zs}\u2019'&!._:;()/,-]/gu;
const EDGE = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;

export function homekitName(name: string, fallback = 'Meross Plug'): string {
  const cleaned = name.replace(ALLOWED, ' ').replace(/\s+/g, ' ').replace(EDGE, '');
  return cleaned.length > 0 ? cleaned.slice(0, 64).replace(EDGE, '') : fallback;
}
