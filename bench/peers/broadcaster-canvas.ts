// Runs in the Baton broadcaster page before its own scripts (bundled by broadcaster.ts): "the camera"
// becomes a canvas that draws the wall clock into each frame, so the clock goes through the normal
// broadcaster path (MediaRecorder → data channels → two entry servers) with nothing else changed.
import { drawClock } from './clock.js';

const WIDTH = 320;
const HEIGHT = 180;
const FPS = 30;

navigator.mediaDevices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
  if (!constraints?.video) throw new DOMException('the bench canvas gives video only', 'NotFoundError');
  const canvas = document.createElement('canvas');
  canvas.width = WIDTH;
  canvas.height = HEIGHT;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(WIDTH, HEIGHT);
  let n = 0;
  const t0 = performance.now();
  const draw = () => {
    img.data.fill(96);
    for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
    // Something that moves, as in the Node source.
    const x = (n * 4) % (WIDTH - 32);
    for (let y = HEIGHT - 40; y < HEIGHT - 8; y++) img.data.fill(220, (y * WIDTH + x) * 4, (y * WIDTH + x + 32) * 4);
    drawClock({ data: img.data, width: WIDTH, height: HEIGHT, channels: 4 }, Date.now());
    ctx.putImageData(img, 0, 0);
    n++;
    setTimeout(draw, Math.max(0, t0 + (n * 1000) / FPS - performance.now()));
  };
  draw();
  return canvas.captureStream(FPS);
};
