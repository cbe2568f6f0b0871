/**
 * The shared-token check of a worker: every call must carry `authorization: Bearer <token>`, except
 * the standard health service's, which reveal nothing but the serving status and must answer
 * probes that carry no metadata (a kubelet's gRPC probe sends none).
 */
import { timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";

/** Paths of the health service's methods (Check, Watch) start with this. */
const HEALTH_SERVICE = "/grpc.health.v1.Health/";

/** Rejects every call but health's that lacks the token with UNAUTHENTICATED, and logs it. */
export function tokenInterceptor(token: string, log: (line: string) => void): grpc.ServerInterceptor {
  const expected = Buffer.from(`Bearer ${token}`);
  const matches = (given: unknown) => {
    const g = Buffer.from(typeof given === "string" ? given : "");
    return g.length === expected.length && timingSafeEqual(g, expected);
  };
  return (methodDescriptor, call) => methodDescriptor.path.startsWith(HEALTH_SERVICE) ? new grpc.ServerInterceptingCall(call) : new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMetadata: (metadata, mdNext) => {
          if (matches(metadata.get("authorization")[0])) {
            mdNext(metadata);
          } else {
            log(`rejected ${methodDescriptor.path}: missing or wrong token (UNAUTHENTICATED)`);
            call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: "missing or wrong token (send 'authorization: Bearer <token>')" });
          }
        },
      });
    },
  });
}
