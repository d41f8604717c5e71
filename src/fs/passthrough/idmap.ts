// uid/gid mapping between the host and the clients of the mount:
// "H:C:N[:H:C:N...]" triples of host id, client id, length.

import { readFileSync } from 'node:fs';
import { OptionError } from './option-error.js';

export interface IdRange { host: number; client: number; length: number }

function readOverflow(file: string): number {
  try {
    const v = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(v) && v >= 0 ? v : 65534;
  } catch {
    return 65534;
  }
}

const MAX_ID = 0xffffffff;

export class IdMap {
  private constructor(readonly ranges: readonly IdRange[], readonly overflow: number) {}

  static identity(): IdMap {
    return new IdMap([], 65534);
  }

  /** Parses the option's value; undefined or '' means no mapping (ids pass unchanged). */
  static parse(option: 'uidmapping' | 'gidmapping', spec: string | undefined): IdMap {
    const overflow = readOverflow(option === 'uidmapping' ? '/proc/sys/kernel/overflowuid' : '/proc/sys/kernel/overflowgid');
    if (spec === undefined || spec === '') return new IdMap([], overflow);
    if (typeof spec !== 'string') throw new OptionError(`${option}: expected a string H:C:N[:H:C:N...]`);
    const parts = spec.split(':');
    const form = `${option}=HOST:CLIENT:LENGTH[:HOST:CLIENT:LENGTH...], e.g. ${option}=1000:0:1`;
    if (parts.length % 3 !== 0) throw new OptionError(`${option}: '${spec}' is not a list of triples; expected ${form}`);
    const ranges: IdRange[] = [];
    for (let i = 0; i < parts.length; i += 3) {
      const nums = parts.slice(i, i + 3).map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
      if (nums.some((n) => !Number.isSafeInteger(n) || n > MAX_ID)) {
        throw new OptionError(`${option}: '${parts.slice(i, i + 3).join(':')}' has a value that is not an id (0..4294967295); expected ${form}`);
      }
      const [host, client, length] = nums as [number, number, number];
      if (length === 0) throw new OptionError(`${option}: range ${host}:${client}:0 has length 0`);
      if (host + length - 1 > MAX_ID || client + length - 1 > MAX_ID) {
        throw new OptionError(`${option}: range ${host}:${client}:${length} goes past id 4294967295`);
      }
      ranges.push({ host, client, length });
    }
    return new IdMap(ranges, overflow);
  }

  get identityMap(): boolean {
    return this.ranges.length === 0;
  }

  /** Host id → the id clients see; unmapped ids become the overflow id. */
  toClient(id: number): number {
    if (this.ranges.length === 0) return id;
    for (const r of this.ranges) if (id >= r.host && id < r.host + r.length) return r.client + (id - r.host);
    return this.overflow;
  }

  /** Client id → host id; unmapped ids become the overflow id. */
  toHost(id: number): number {
    if (this.ranges.length === 0) return id;
    for (const r of this.ranges) if (id >= r.client && id < r.client + r.length) return r.host + (id - r.client);
    return this.overflow;
  }
}
