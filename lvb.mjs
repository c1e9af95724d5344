import { ClassicLevel } from 'classic-level';
import { mkdtempSync } from 'node:fs';
const db = new ClassicLevel(mkdtempSync('/tmp/lvb-'), { keyEncoding: 'utf8', valueEncoding: 'view' });
await db.open();
const size = Number(process.argv[2] ?? 19000);
const seg = new Uint8Array(size).fill(120); const hs = new Uint8Array(30).fill(1);
let syncPart = 0, syncFaults = 0; const n = 1000; const f0 = process.resourceUsage().minorPageFault;
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const fa = process.resourceUsage().minorPageFault;
  const s = performance.now();
  const p = db.batch([{ type: 'put', key: 's/' + String(i).padStart(16, '0'), value: seg }, { type: 'put', key: 'hardstate', value: hs }], { sync: process.argv[3] !== 'nosync' });
  syncPart += performance.now() - s;
  syncFaults += process.resourceUsage().minorPageFault - fa;
  await p;
}
console.log(size, 'sync part per batch', (syncPart / n * 1000).toFixed(1), 'µs (faults', (syncFaults / n).toFixed(2), '); total per batch', ((performance.now() - t0) / n * 1000).toFixed(0), 'µs; faults/batch', ((process.resourceUsage().minorPageFault - f0) / n).toFixed(2));
await db.close();
