/**
 * The region's gRPC server: one listening port hosting every module's gRPC services
 * (schemas/proto/*.proto). stop() lets in-flight calls finish for a grace period, then cuts them.
 */
import * as grpc from '@grpc/grpc-js';
import type { GrpcService } from './domain-module.ts';

export interface RunningGrpcServer {
  readonly port: number;
  stop(): Promise<void>;
}

function bind(server: grpc.Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

/** Starts one gRPC server on host:port (0 = any free port) serving `services`. */
export async function startGrpcServer(opts: {
  readonly port: number;
  readonly host?: string;
  readonly services: readonly GrpcService[];
  /** How long stop() lets in-flight calls finish before cutting them off; 5 s by default. */
  readonly shutdownGraceMs?: number;
}): Promise<RunningGrpcServer> {
  const host = opts.host ?? '127.0.0.1';
  const graceMs = opts.shutdownGraceMs ?? 5000;
  const server = new grpc.Server();
  for (const s of opts.services) server.addService(s.definition, s.implementation);
  // An IPv6 literal needs brackets in a gRPC address.
  const port = await bind(server, `${host.includes(':') ? `[${host}]` : host}:${opts.port}`);
  let stopped: Promise<void> | undefined;
  return {
    port,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        // A call still running after the grace period is cut off rather than holding the shutdown forever.
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
  };
}
