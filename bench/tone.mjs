// Writes a steady sine tone as a 16-bit PCM mono WAV file, for Chromium's fake
// microphone (`--use-file-for-fake-audio-capture=PATH`, which loops the file).
// The length is rounded up to a whole number of cycles, so the loop point has
// no discontinuity (440 Hz at 48 kHz: 11 cycles = 1200 samples exactly).
//   node bench/tone.mjs [PATH]   (default bench/out/tone-440.wav; gitignored)
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const defaultTonePath = fileURLToPath(new URL("./out/tone-440.wav", import.meta.url));

/**
 * Writes the tone and returns { path, samples, cycles }. `freq` and
 * `sampleRate` are integers (Hz); `amplitude` is relative to full scale.
 */
export function writeTone({ path = defaultTonePath, freq = 440, amplitude = 0.5, sampleRate = 48_000, seconds = 4 } = {}) {
  if (!Number.isInteger(freq) || !Number.isInteger(sampleRate)) throw new Error("writeTone: freq and sampleRate must be integers");
  // Smallest whole number of cycles >= seconds * freq that spans a whole number of samples.
  let cycles = Math.max(1, Math.ceil(seconds * freq));
  while ((cycles * sampleRate) % freq !== 0) cycles++;
  const samples = (cycles * sampleRate) / freq;

  const dataBytes = samples * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write("WAVE", 8, "ascii");
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples; i++) {
    const v = amplitude * Math.sin((2 * Math.PI * freq * i) / sampleRate);
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), 44 + 2 * i);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, buf);
  return { path, samples, cycles };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t = writeTone({ path: process.argv[2] || defaultTonePath });
  console.log(`${t.path}: ${t.samples} samples, ${t.cycles} cycles`);
}
