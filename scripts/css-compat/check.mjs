// Checks a stylesheet against the browsers of .browserslistrc (the manual's:
// Firefox 40+, Opera 25+, Chrome 37+, IE 10+) with doiuse, and fails on every
// feature they lack unless allowed.json names it with the fallback that covers
// it and why. An allowed feature the stylesheet no longer uses fails too, so
// the list says what the stylesheet relies on, no more.
//
// Usage: node check.mjs PATH/TO/cabinet.css   (scripts/test-all.sh passes the
// file the cabinet's binary embeds). Needs `npm ci` in this folder; never
// downloads anything.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import browserslist from 'browserslist';
import doiuse from 'doiuse';
import postcss from 'postcss';

const here = dirname(fileURLToPath(import.meta.url));
// The browser data is what package-lock.json pins, on purpose: no nagging to update it.
process.env.BROWSERSLIST_IGNORE_OLD_DATA = '1';
const cssPath = process.argv[2];
if (!cssPath) {
  console.error('usage: node check.mjs STYLESHEET');
  process.exit(2);
}

const query = browserslist.loadConfig({ path: here });
if (!query || query.length === 0) {
  console.error(`css-compat: no browserslist in ${here}/.browserslistrc`);
  process.exit(2);
}

const allowed = JSON.parse(readFileSync(join(here, 'allowed.json'), 'utf8'));
const allowedById = new Map();
for (const entry of allowed.features) {
  if (!entry.feature || !entry.fallback || !entry.why) {
    console.error(`css-compat: allowed.json entry ${JSON.stringify(entry)} needs feature, fallback and why`);
    process.exit(2);
  }
  allowedById.set(entry.feature, entry);
}

const found = [];
const css = readFileSync(cssPath, 'utf8');
await postcss([
  doiuse({
    browsers: query,
    onFeatureUsage: (info) => found.push(info),
  }),
]).process(css, { from: cssPath });

const used = new Set();
const refused = [];
/** Whether a postcss node sits inside an @supports block. */
const insideSupports = (node) => {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (parent.type === 'atrule' && parent.name === 'supports') return true;
  }
  return false;
};
for (const info of found) {
  used.add(info.feature);
  const entry = allowedById.get(info.feature);
  if (!entry) {
    refused.push(info.message);
  } else if (entry.only_inside_supports && !insideSupports(info.usage)) {
    refused.push(`${info.message} [allowed only inside @supports]`);
  }
}
const stale = [...allowedById.keys()].filter((id) => !used.has(id));

console.log(`css-compat: ${cssPath} for ${query.join(', ')}`);
for (const id of [...used].sort()) {
  const count = found.filter((info) => info.feature === id).length;
  const entry = allowedById.get(id);
  console.log(`  ${entry ? 'allowed' : 'REFUSED'}  ${id} (${count}×)${entry ? `: ${entry.fallback}` : ''}`);
}
if (refused.length > 0) {
  console.error(`css-compat: ${refused.length} use(s) of features the manual's browsers lack, not in allowed.json:`);
  for (const message of refused) console.error(`  ${message}`);
}
if (stale.length > 0) {
  console.error(`css-compat: allowed.json names features the stylesheet no longer uses: ${stale.join(', ')}`);
}
process.exit(refused.length > 0 || stale.length > 0 ? 1 : 0);
