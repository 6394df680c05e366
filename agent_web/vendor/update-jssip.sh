#!/bin/sh
# Rebuilds the vendored JsSIP (the panel's browser phone) from npm as one ES module, with the
# licences of JsSIP and of the packages bundled into it. Usage: agent_web/vendor/update-jssip.sh [version]
set -eu
version="${1:-3.13.8}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund "jssip@$version" esbuild@0.24 >/dev/null
npx esbuild node_modules/jssip/lib/JsSIP.js --bundle --format=esm --minify \
  --legal-comments=eof --outfile="$here/jssip-$version.min.mjs"
for p in jssip debug events sdp-transform ms; do
  f="$(ls node_modules/$p/LICENSE* node_modules/$p/license* 2>/dev/null | head -1)"
  v="$(node -p "require('./node_modules/$p/package.json').version")"
  echo "===== $p $v ($(basename "$f")) ====="
  cat "$f"
  echo
done >"$here/jssip-$version.LICENSES.txt"
echo "built $here/jssip-$version.min.mjs; point agent_web/phone.js's import at it"
