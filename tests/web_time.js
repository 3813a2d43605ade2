// The dashboard's alert times (collector/web/assets/app.js, fmtTime) as an
// operator in Vietnam sees them: the alert is stored in UTC (@timestamp,
// "...Z"), minisocctl alerts and the report print UTC, and the page prints
// the browser's local time. A time without its zone cannot be matched with
// the other two: "23:49:02" on the page is "16:49:02Z" in the CLI, and
// nothing on the page said which one it was. Run: TZ=Asia/Ho_Chi_Minh node
// tests/web_time.js collector/web/assets/app.js (and with TZ=UTC).
'use strict';
const fs = require('fs');
const vm = require('vm');
const assert = require('assert');

const src = fs.readFileSync(process.argv[2], 'utf8');
const ctx = { document: { addEventListener() {} }, console };
vm.createContext(ctx);
vm.runInContext(src + '\n;globalThis.fmtTime = fmtTime;', ctx);
const iso = '2026-11-25T16:49:02.880Z';
const shown = ctx.fmtTime(iso);
const tz = process.env.TZ || '';
if (tz === 'Asia/Ho_Chi_Minh') {
  assert.match(shown, /^2026-11-25 23:49:02 /, shown);
  assert.match(shown, /UTC\+7$/, `the zone is not named: "${shown}"`);
} else if (tz === 'UTC') {
  assert.match(shown, /^2026-11-25 16:49:02 UTC$/, `the zone is not named: "${shown}"`);
} else {
  throw new Error('run with TZ=Asia/Ho_Chi_Minh or TZ=UTC');
}
console.log(`ok: ${tz}: ${shown}`);
