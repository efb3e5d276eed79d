// Makes pattern.ivf, the frames the camera example sends: a test pattern
// (colour bars, a moving square, the frame number) drawn on a canvas in
// headless Chromium and encoded to VP8 by the browser's WebCodecs encoder
// (libvpx): Go has no VP8 encoder in this module's dependencies, so the
// camera replays these recorded frames in a loop. Only the first frame is
// a key frame, so the loop starts again on one.
//
//   node pattern.mjs [out.ivf]     (needs js/node_modules: npm ci --prefix js)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const out = process.argv[2] || new URL('pattern.ivf', import.meta.url).pathname;
const width = 320, height = 240, fps = 25, count = 100;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
try {
  const page = await browser.newPage();
  // WebCodecs wants a secure context: an https page the runner makes up
  await page.route('https://pattern.invalid/', (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html>' }));
  await page.goto('https://pattern.invalid/');
  const frames = await page.evaluate(async ({ width, height, fps, count }) => {
    const canvas = new OffscreenCanvas(width, height);
    const g = canvas.getContext('2d');
    const chunks = [];
    let failure;
    const enc = new VideoEncoder({
      output: (chunk) => {
        const b = new Uint8Array(chunk.byteLength);
        chunk.copyTo(b);
        let s = '';
        for (const x of b) s += String.fromCharCode(x);
        chunks.push({ key: chunk.type === 'key', data: btoa(s) });
      },
      error: (e) => { failure = e; },
    });
    enc.configure({ codec: 'vp8', width, height, bitrate: 400_000, framerate: fps });
    const bars = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
    for (let i = 0; i < count; i++) {
      bars.forEach((c, j) => { g.fillStyle = c; g.fillRect((j * width) / 7, 0, width / 7 + 1, height); });
      const x = ((width - 40) * i) / (count - 1);
      g.fillStyle = '#000'; g.fillRect(x, height / 2 - 20, 40, 40);
      g.fillStyle = '#fff'; g.fillRect(0, height - 40, width, 40);
      g.fillStyle = '#000'; g.font = 'bold 28px monospace';
      g.fillText(`wotmq ${String(i).padStart(3, '0')}`, 10, height - 10);
      const f = new VideoFrame(canvas, { timestamp: (i * 1e6) / fps });
      enc.encode(f, { keyFrame: i === 0 });
      f.close();
    }
    await enc.flush();
    if (failure) throw failure;
    return chunks;
  }, { width, height, fps, count });
  if (frames.length !== count || !frames[0].key) throw new Error(`${frames.length} frames, the first a key frame: ${frames[0]?.key}`);
  const bodies = frames.map((f) => Buffer.from(f.data, 'base64'));
  const ivf = Buffer.alloc(32 + bodies.reduce((n, b) => n + 12 + b.length, 0));
  ivf.write('DKIF', 0); ivf.writeUInt16LE(0, 4); ivf.writeUInt16LE(32, 6); ivf.write('VP80', 8);
  ivf.writeUInt16LE(width, 12); ivf.writeUInt16LE(height, 14);
  ivf.writeUInt32LE(fps, 16); ivf.writeUInt32LE(1, 20); ivf.writeUInt32LE(count, 24);
  let at = 32;
  bodies.forEach((b, i) => {
    ivf.writeUInt32LE(b.length, at); ivf.writeBigUInt64LE(BigInt(i), at + 4); b.copy(ivf, at + 12);
    at += 12 + b.length;
  });
  writeFileSync(out, ivf);
  console.log(`${out}: ${count} VP8 frames of ${width}x${height} at ${fps}/s, ${ivf.length} bytes, key frames ${frames.filter((f) => f.key).length}`);
} finally {
  await browser.close();
}
