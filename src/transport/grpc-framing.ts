/**
 * gRPC over HTTP/2 as far as the HTTP/2 PublishAsync client needs it: status codes, the
 * HTTP-status table, trailers, and reading length-prefixed messages out of DATA chunks.
 *
 * Internal (not exported from the package root).
 */
import type { IncomingHttpHeaders } from 'node:http2';

/** gRPC status codes used by the HTTP/2 client. */
export const GRPC_UNKNOWN = 2;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;

/**
 * gRPC's HTTP-to-status table (grpc/doc/http-grpc-status-mapping.md): the status of a response
 * whose HTTP status is not 200 and that carries no grpc-status.
 */
export function grpcCodeOfHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GRPC_INTERNAL;
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** A gRPC status as an Error that the error mapper understands (`code` + `details`). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${details}`);
    this.name = 'GrpcStatusError';
  }
}

/** The gRPC status in response headers (trailers-only) or trailers. */
export function statusOf(headers: IncomingHttpHeaders): { code: number; details: string } {
  const code = Number(headers['grpc-status']);
  const raw = headers['grpc-message'];
  let details = typeof raw === 'string' ? raw : '';
  try {
    details = decodeURIComponent(details);
  } catch {
    // keep it as sent
  }
  return { code: Number.isInteger(code) ? code : GRPC_UNKNOWN, details };
}

/**
 * Reads gRPC messages (1-byte compression flag, 4-byte length, protobuf) out of DATA chunks that
 * may split or join them. `push` returns a failure (status code and details) for a compressed or
 * oversized message; the reader must not be used after one. `onMessage` may stop the reading by
 * returning `false` (the call finished meanwhile).
 */
export class GrpcFrameReader {
  private pending: Buffer | undefined;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly onMessage: (bytes: Buffer, start: number, end: number) => boolean,
  ) {}

  push(chunk: Buffer): { code: number; details: string } | undefined {
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let p = 0;
    while (buf.length - p >= 5) {
      if (buf[p] !== 0) return { code: GRPC_INTERNAL, details: 'compressed PublishAsync responses are not supported' };
      const length = buf.readUInt32BE(p + 1);
      if (length > this.maxMessageBytes) {
        return { code: GRPC_RESOURCE_EXHAUSTED, details: `response of ${length} bytes is larger than maxReceiveMessageBytes (${this.maxMessageBytes})` };
      }
      if (buf.length - p - 5 < length) break;
      const start = p + 5;
      p = start + length;
      if (!this.onMessage(buf, start, p)) return undefined;
    }
    if (p < buf.length) this.pending = buf.subarray(p);
    return undefined;
  }
}
