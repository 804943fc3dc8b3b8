/**
 * CRC-32 checksums: IEEE 802.3 (the key partitioner, like Go's `crc32.ChecksumIEEE`) and
 * Castagnoli (CRC-32C, the Liftbridge envelope's optional payload checksum).
 *
 * @internal
 */

function table(reversedPolynomial: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reversedPolynomial : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

const IEEE = table(0xedb88320);
const CASTAGNOLI = table(0x82f63b78);

function checksum(t: Uint32Array, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 (IEEE), unsigned. */
export function crc32(bytes: Uint8Array): number {
  return checksum(IEEE, bytes);
}

/** CRC-32C (Castagnoli), unsigned. */
export function crc32c(bytes: Uint8Array): number {
  return checksum(CASTAGNOLI, bytes);
}
