// Checks PowerShell scripts where no PowerShell runs: parses each one with the
// tree-sitter PowerShell grammar (syntax errors fail), and applies the rules
// that packaging/windows/*.ps1 keep. Usage: node pslint.mjs FILE.ps1...
// .ci/packaging.sh installs the pinned grammar (package-lock.json) outside the
// work tree and runs this.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Parser, Language } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

// Each rule: what a script must (or must not) contain, and why.
const required = [
  [/^#Requires -Version 5\.1$/m, 'must declare #Requires -Version 5.1 (Windows PowerShell on every store PC)'],
  [/^#Requires -RunAsAdministrator$/m, 'must declare #Requires -RunAsAdministrator'],
  [/^Set-StrictMode -Version Latest$/m, 'must Set-StrictMode -Version Latest'],
  [/^\$ErrorActionPreference = 'Stop'$/m, "must set $ErrorActionPreference = 'Stop'"],
];
const forbidden = [
  // "$Dir: text" is read as a drive-qualified variable and fails at run time.
  [/"[^"\n]*\$(?!env:|script:|global:|local:|using:)[A-Za-z_]\w*:[^A-Za-z_\\][^"\n]*"/, 'a "$name:" in a string is a scope reference: write ${name}:'],
  // PowerShell 7 only; Windows PowerShell 5.1 cannot parse them.
  [/\s(\?\?|\?\?=|&&|\|\|)\s/, 'an operator Windows PowerShell 5.1 does not know (??, &&, ||)'],
  [/\bInvoke-WebRequest\b(?![^\n]*-UseBasicParsing)/, 'Invoke-WebRequest without -UseBasicParsing fails on PCs without IE'],
];

await Parser.init();
const lang = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
const parser = new Parser();
parser.setLanguage(lang);

function syntaxErrors(tree) {
  const out = [];
  const walk = (n) => {
    if (n.isError || n.isMissing) {
      out.push(`line ${n.startPosition.row + 1}: ${n.isMissing ? 'missing ' + n.type : 'syntax error near: ' + n.text.split('\n')[0].slice(0, 60)}`);
      return;
    }
    if (n.hasError) n.children.forEach(walk);
  };
  walk(tree.rootNode);
  return out;
}

let failed = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node pslint.mjs FILE.ps1...');
  process.exit(2);
}
for (const file of files) {
  const buf = readFileSync(file);
  const src = buf.toString('utf8');
  const problems = [];
  // Windows PowerShell 5.1 reads a BOM-less file as the ANSI code page.
  const nonAscii = buf.findIndex((b) => b > 0x7f);
  if (nonAscii >= 0) problems.push(`non-ASCII byte at offset ${nonAscii}: keep scripts ASCII`);
  problems.push(...syntaxErrors(parser.parse(src)));
  for (const [re, why] of required) if (!re.test(src)) problems.push(why);
  src.split('\n').forEach((line, i) => {
    if (line.trimStart().startsWith('#')) return;
    for (const [re, why] of forbidden) if (re.test(line)) problems.push(`line ${i + 1}: ${why}`);
  });
  if (problems.length) {
    failed++;
    console.log(`${file}: FAIL`);
    for (const p of problems) console.log(`  ${p}`);
  } else {
    console.log(`${file}: ok`);
  }
}
console.log(`${files.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
