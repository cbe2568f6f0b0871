/** The shared-token check of a worker: every call (health included) must carry `authorization: Bearer <token>`. */
import { timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";

/** Rejects every call that lacks the token with UNAUTHENTICATED, and logs it. */
export function tokenInterceptor(token: string, log: (line: string) => void): grpc.ServerInterceptor {
  const expected = Buffer.from(`Bearer ${token}`);
  const matches = (given: unknown) => {
    const g = Buffer.from(typeof given === "string" ? given : "");
    return g.length === expected.length && timingSafeEqual(g, expected);
  };
  return (methodDescriptor, call) => new grpc.ServerInterceptingCall(call, {
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
