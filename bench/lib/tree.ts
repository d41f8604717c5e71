// The "real tree": a tarball of the first N regular files (up to 1 MiB each)
// of /usr/include, /usr/share and /usr/lib, in sorted walk order, with the
// directories and symlinks met on the way. Built once and cached under
// /tmp/tsfuse-bench-cache/.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { runOk } from './proc.ts';

export const CACHE_DIR = '/tmp/tsfuse-bench-cache';
const ROOTS = ['/usr/include', '/usr/share', '/usr/lib'];
const MAX_FILE = 1 << 20;

export interface TreeInfo {
  tarball: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  roots: string[];
}

function walk(wanted: number): { list: string[]; info: Omit<TreeInfo, 'tarball'> } {
  const list: string[] = [];
  let files = 0;
  let dirs = 0;
  let symlinks = 0;
  let bytes = 0;
  const used: string[] = [];
  const visit = (dir: string): boolean => {
    let ents: fs.Dirent[];
    try {
      ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    list.push(dir.slice(1));
    dirs++;
    ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of ents) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (visit(p)) return true;
      } else if (e.isSymbolicLink()) {
        list.push(p.slice(1));
        symlinks++;
      } else if (e.isFile()) {
        let st: fs.Stats;
        try {
          st = fs.statSync(p);
          fs.accessSync(p, fs.constants.R_OK);
        } catch {
          continue;
        }
        if (st.size > MAX_FILE) continue;
        list.push(p.slice(1));
        files++;
        bytes += st.size;
        if (files >= wanted) return true;
      }
    }
    return false;
  };
  for (const r of ROOTS) {
    used.push(r);
    if (visit(r)) break;
  }
  return { list, info: { files, dirs, symlinks, bytes, roots: used } };
}

/** The cached tarball of `files` files, built if missing. */
export async function treeTarball(files: number, log: (s: string) => void): Promise<TreeInfo> {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const tarball = path.join(CACHE_DIR, `tree-${files}.tar`);
  const manifest = `${tarball}.json`;
  if (fs.existsSync(tarball) && fs.existsSync(manifest)) {
    const info = JSON.parse(fs.readFileSync(manifest, 'utf8')) as TreeInfo;
    if (info.tarball === tarball && fs.statSync(tarball).size > info.bytes) return info;
  }
  log(`building ${tarball} (${files} files from ${ROOTS.join(', ')}) ...`);
  const { list, info } = walk(files);
  if (info.files < files) log(`  only ${info.files} readable regular files <= 1 MiB found`);
  const listFile = `${tarball}.list`;
  fs.writeFileSync(listFile, list.join('\0') + '\0');
  const tmp = `${tarball}.tmp`;
  await runOk('tar', ['-cf', tmp, '-C', '/', '--no-recursion', '--null', '-T', listFile]);
  // Check the count from the archive itself.
  const t = await runOk('tar', ['-tvf', tmp]);
  // '-' regular file, 'h' a hard link to one archived earlier.
  const regular = t.stdout.split('\n').filter((l) => l.startsWith('-') || l.startsWith('h')).length;
  if (regular !== info.files) throw new Error(`tarball holds ${regular} regular files, expected ${info.files}`);
  fs.renameSync(tmp, tarball);
  fs.rmSync(listFile);
  const full: TreeInfo = { tarball, ...info };
  fs.writeFileSync(manifest, JSON.stringify(full, null, 2));
  log(`  ${info.files} files, ${info.dirs} directories, ${info.symlinks} symlinks, ${(info.bytes / 2 ** 20).toFixed(0)} MiB`);
  return full;
}
