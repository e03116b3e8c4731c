// Times the npm `qrcode` package's toBuffer with the Connector's defaults (EC level M, margin 4, scale 4, PNG).
// Protocol (driven by benchmarks/qr_bench.py): one JSON request per stdin line,
//   {"payload": "<text>", "warmup": <calls>, "iterations": <calls>}
// answered by one JSON line {"ns": [<per-call nanoseconds>...], "bytes": <PNG size>}. Exits at end of input.
"use strict";

const readline = require("node:readline");
const QRCode = require("qrcode");

const OPTIONS = { errorCorrectionLevel: "M", margin: 4, scale: 4, type: "png" };

async function measure({ payload, warmup, iterations }) {
  let png = await QRCode.toBuffer(payload, OPTIONS);
  for (let i = 0; i < warmup; i++) png = await QRCode.toBuffer(payload, OPTIONS);
  const ns = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    png = await QRCode.toBuffer(payload, OPTIONS); // each call awaited on its own, like a request handler
    ns.push(Number(process.hrtime.bigint() - start));
  }
  return { ns, bytes: png.length };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    process.stdout.write(JSON.stringify(await measure(JSON.parse(line))) + "\n");
  }
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
