// H.264 in Matroska (V_MPEG4/ISO/AVC): the AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3) from SPS/PPS, AVCC samples, the SPS's picture size.

/** NAL length prefix in the stored samples, bytes (lengthSizeMinusOne = 3). */
export const AVCC_LENGTH_BYTES = 4;

export interface SpsInfo {
  profileIdc: number;
  /** constraint_set0..5 flags and reserved bits: the byte between profile and level. */
  constraints: number;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  width: number;
  height: number;
}

/** Profiles whose SPS carries chroma format and bit depth (and whose avcC carries them after the PPS). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Reads an SPS NAL unit (header byte included) far enough for the picture size. Throws on a truncated or bad one. */
export function parseSps(nal: Uint8Array): SpsInfo {
  if (nal.byteLength < 4 || (nal[0]! & 0x1f) !== 7) throw new Error('not an SPS NAL unit');
  const r = new BitReader(rbsp(nal.subarray(1)));
  const profileIdc = r.bits(8);
  const constraints = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) separateColourPlane = r.bits(1);
    bitDepthLuma = r.ue() + 8;
    bitDepthChroma = r.ue() + 8;
    r.bits(1); // qpprime_y_zero_transform_bypass_flag
    if (r.bits(1)) {
      for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) if (r.bits(1)) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bits(1);
    r.se();
    r.se();
    const n = r.ue();
    if (n > 255) throw new Error('bad SPS: num_ref_frames_in_pic_order_cnt_cycle > 255');
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bits(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bits(1);
  if (!frameMbsOnly) r.bits(1); // mb_adaptive_frame_field_flag
  r.bits(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.bits(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const chromaArray = separateColourPlane ? 0 : chromaFormatIdc;
  const cropX = chromaArray === 0 ? 1 : chromaArray === 3 ? 1 : 2;
  const cropY = (chromaArray === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropX * (crop[0]! + crop[1]!);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop[2]! + crop[3]!);
  if (width <= 0 || height <= 0) throw new Error(`bad SPS: picture size ${width}×${height}`);
  return { profileIdc, constraints, levelIdc, chromaFormatIdc, bitDepthLuma, bitDepthChroma, width, height };
}

/** The AVCDecoderConfigurationRecord (Matroska CodecPrivate, MP4 avcC) for one SPS and its PPSs. */
export function avcDecoderConfig(sps: Uint8Array, pps: Uint8Array[]): Uint8Array {
  if (pps.length === 0 || pps.length > 255) throw new Error('an AVC configuration needs 1 to 255 PPS');
  const info = parseSps(sps);
  const out: number[] = [1, info.profileIdc, info.constraints, info.levelIdc, 0xfc | (AVCC_LENGTH_BYTES - 1), 0xe0 | 1];
  const put = (nal: Uint8Array) => {
    if (nal.byteLength > 0xffff) throw new Error('parameter set larger than 65535 bytes');
    out.push(nal.byteLength >> 8, nal.byteLength & 0xff, ...nal);
  };
  put(sps);
  out.push(pps.length);
  for (const p of pps) put(p);
  if (HIGH_PROFILES.has(info.profileIdc)) {
    out.push(0xfc | info.chromaFormatIdc, 0xf8 | (info.bitDepthLuma - 8), 0xf8 | (info.bitDepthChroma - 8), 0);
  }
  return Uint8Array.from(out);
}

/** The SPS and PPS NAL units of an AVCDecoderConfigurationRecord. Throws on a malformed one. */
export function parameterSets(config: Uint8Array): Uint8Array[] {
  if (config.byteLength < 7 || config[0] !== 1) throw new Error('not an AVCDecoderConfigurationRecord');
  const out: Uint8Array[] = [];
  let at = 5;
  for (const countMask of [0x1f, 0xff]) {
    const n = config[at++]! & countMask;
    for (let i = 0; i < n; i++) {
      const size = ((config[at] ?? 0) << 8) | (config[at + 1] ?? 0);
      if (at + 2 + size > config.byteLength) throw new Error('truncated AVCDecoderConfigurationRecord');
      out.push(config.subarray(at + 2, at + 2 + size));
      at += 2 + size;
    }
  }
  return out;
}

/** NAL units as one AVCC sample: each prefixed with its 4-byte big-endian length. */
export function toAvcc(nalus: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(nalus.reduce((n, x) => n + AVCC_LENGTH_BYTES + x.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const n of nalus) {
    view.setUint32(at, n.byteLength);
    out.set(n, at + AVCC_LENGTH_BYTES);
    at += AVCC_LENGTH_BYTES + n.byteLength;
  }
  return out;
}

/** The NAL units of an AVCC sample with `lengthBytes`-byte prefixes. Throws when a length runs past the end. */
export function fromAvcc(sample: Uint8Array, lengthBytes = AVCC_LENGTH_BYTES): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < sample.byteLength; ) {
    if (at + lengthBytes > sample.byteLength) throw new Error('truncated AVCC sample');
    let size = 0;
    for (let i = 0; i < lengthBytes; i++) size = size * 256 + sample[at + i]!;
    at += lengthBytes;
    if (at + size > sample.byteLength) throw new Error('AVCC NAL length past the end of the sample');
    out.push(sample.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** The RFC 6381 codec string MSE and WebRTC name the stream by, e.g. `avc1.42e01f`. */
export function avc1Codec(config: Uint8Array): string {
  return `avc1.${[...config.subarray(1, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The RBSP of a NAL unit's payload: emulation prevention bytes (00 00 03) removed. */
function rbsp(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.byteLength);
  let n = 0;
  let zeros = 0;
  for (const x of b) {
    if (zeros >= 2 && x === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = x;
    zeros = x === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

class BitReader {
  #at = 0;
  constructor(readonly bytes: Uint8Array) {}
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.#at >> 3];
      if (byte === undefined) throw new Error('truncated SPS');
      v = v * 2 + ((byte >> (7 - (this.#at & 7))) & 1);
      this.#at++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) if (++zeros > 31) throw new Error('bad SPS: Exp-Golomb code longer than 32 bits');
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}
