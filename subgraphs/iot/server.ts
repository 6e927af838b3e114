/**
 * The IoT subgraph: SDL from schemas/subgraphs/iot.graphql and resolvers that only call domain
 * use cases through ports (the registry, telemetry windows, the firmware orchestrator over
 * gRPC). Every read and write is in the caller's tenant. Nothing listens on import.
 */

import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type GraphQLSchema, parse } from 'graphql';
import type { Device, RegistrationInput } from '../../domains/iot/device.ts';
import type { FirmwareOrchestrator, TelemetryWindows } from '../../domains/iot/ports.ts';
import { deviceJobs, deviceTelemetry } from '../../domains/iot/queries.ts';
import {
  getDevice,
  listDevices,
  type RegistryDeps,
  registerDevice,
  revokeDevice,
  rotateCredentials,
} from '../../domains/iot/registry.ts';
import { type Job, jobCounts, type Rollout, type RolloutInput } from '../../domains/iot/rollout.ts';
import { getRollout, startRollout } from '../../domains/iot/rollouts.ts';
import { mqttIdOf } from '../../domains/iot/topics.ts';
import type { Actor } from '../../domains/shared/actor.ts';
import { DomainError } from '../../domains/shared/errors.ts';
import { subgraphSdl } from '../shared/sdl.ts';

export const IOT_SDL = subgraphSdl('iot');

export interface IotContext {
  readonly actor: Actor | undefined;
}

export interface IotDeps extends RegistryDeps {
  readonly windows: TelemetryWindows;
  readonly orchestrator: FirmwareOrchestrator;
}

function actorOf(ctx: IotContext): Actor {
  if (!ctx.actor) throw new DomainError('UNAUTHENTICATED', 'a bearer token is required');
  return ctx.actor;
}

type RolloutView = { rollout: Rollout; jobs: Job[] };

function rolloutView({ rollout, jobs }: RolloutView) {
  return {
    ...rollout,
    ...rollout.policy,
    jobTimeoutSeconds: Math.round(rollout.policy.jobTimeoutMs / 1000),
    jobs,
  };
}

export function iotResolvers(deps: IotDeps): GraphQLResolverMap<IotContext> {
  return {
    Query: {
      device: (_: unknown, args: { id: string }, ctx: IotContext) => getDevice(deps, actorOf(ctx), args.id),
      devices: (_: unknown, args: { first?: number | null; after?: string | null }, ctx: IotContext) =>
        listDevices(deps, actorOf(ctx), args.first, args.after),
      firmwareRollout: async (_: unknown, args: { id: string }, ctx: IotContext) => {
        const found = await getRollout(deps, actorOf(ctx), args.id);
        return found && rolloutView(found);
      },
    },
    Mutation: {
      registerDevice: (_: unknown, args: { input: RegistrationInput }, ctx: IotContext) =>
        registerDevice(deps, actorOf(ctx), args.input),
      rotateDeviceCredentials: (_: unknown, args: { id: string }, ctx: IotContext) =>
        rotateCredentials(deps, actorOf(ctx), args.id),
      revokeDevice: (_: unknown, args: { id: string }, ctx: IotContext) => revokeDevice(deps, actorOf(ctx), args.id),
      startFirmwareRollout: async (_: unknown, args: { input: RolloutInput }, ctx: IotContext) =>
        rolloutView(await startRollout(deps, actorOf(ctx), args.input)),
    },
    User: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      devices: (u: { id: string }, args: { first?: number | null; after?: string | null }, ctx: IotContext) => {
        const actor = actorOf(ctx);
        // Only the caller themself, in the token's tenant: anyone else's (or the same id in another
        // tenant, which is another user) devices are none of the caller's business.
        if (u.id !== actor.subject) return [];
        return listDevices(deps, actor, args.first, args.after);
      },
    },
    Device: {
      __resolveReference: (ref: { id: string }, ctx: IotContext) => getDevice(deps, actorOf(ctx), ref.id),
      mqttId: (d: Device) => mqttIdOf(d.tenant, d.id),
      latestReading: (d: Device) =>
        d.latestReading && {
          ...d.latestReading,
          metrics: Object.entries(d.latestReading.metrics)
            .map(([name, value]) => ({ name, value }))
            .sort((a, b) => (a.name < b.name ? -1 : 1)),
        },
      telemetry: (d: Device, args: { metric: string; from: string; to: string }, ctx: IotContext) =>
        deviceTelemetry(deps, actorOf(ctx), d.id, args),
      firmwareJobs: (d: Device, args: { first?: number | null }, ctx: IotContext) =>
        deviceJobs(deps, actorOf(ctx), d.id, args.first),
    },
    FirmwareRollout: {
      __resolveReference: async (ref: { id: string }, ctx: IotContext) => {
        const found = await getRollout(deps, actorOf(ctx), ref.id);
        return found && rolloutView(found);
      },
      counts: (r: { jobs: Job[] }) => {
        const c = jobCounts(r.jobs);
        return {
          queued: c.QUEUED,
          sent: c.SENT,
          inProgress: c.IN_PROGRESS,
          succeeded: c.SUCCEEDED,
          failed: c.FAILED,
          timedOut: c.TIMED_OUT,
          canceled: c.CANCELED,
        };
      },
    },
    FirmwareJob: {
      device: (j: Job, _: unknown, ctx: IotContext) => getDevice(deps, actorOf(ctx), j.deviceId),
    },
  };
}

export function iotSchema(deps: IotDeps): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs: parse(IOT_SDL), resolvers: iotResolvers(deps) }]);
}
