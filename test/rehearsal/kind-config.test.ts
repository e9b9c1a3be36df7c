/**
 * kubernetes/local/kind.yaml as the rehearsal uses it: the repository's file is accepted, takes the name and ports
 * the rehearsal was given, and anything listening beyond loopback is refused before a cluster exists.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { EDGE_NODE_PORT, kindConfigFor, kindNodeImage } from "#src/rehearsal/kind-config.ts";

const KIND_YAML = readFileSync(new URL("../../kubernetes/local/kind.yaml", import.meta.url), "utf8");
const o = { name: "release-gate-rehearsal", apiServerPort: 7443, edgePort: 8081 };

describe("the repository's kind.yaml", () => {
  it("is a kind v1alpha4 cluster on loopback, with the edge mapping and a node image pinned by digest", () => {
    const cfg = parse(KIND_YAML);
    expect(cfg).toMatchObject({ kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4", networking: { apiServerAddress: "127.0.0.1" } });
    expect(kindNodeImage(KIND_YAML)).toMatch(/^kindest\/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    expect(cfg.nodes[0].extraPortMappings).toEqual([
      { containerPort: EDGE_NODE_PORT, hostPort: 8080, listenAddress: "127.0.0.1", protocol: "TCP" },
    ]);
  });

  it("gets the rehearsal's cluster name and the ports of --kube-api and --edge", () => {
    const out = parse(kindConfigFor(KIND_YAML, o));
    expect(out.name).toBe("release-gate-rehearsal");
    expect(out.networking).toEqual({ apiServerAddress: "127.0.0.1", apiServerPort: 7443 });
    expect(out.nodes[0].extraPortMappings[0]).toMatchObject({ containerPort: EDGE_NODE_PORT, hostPort: 8081, listenAddress: "127.0.0.1" });
    // Everything else is the file's own.
    expect(out.nodes[0].image).toBe(kindNodeImage(KIND_YAML));
  });
});

describe("what is refused before a cluster is created", () => {
  const edit = (f: (cfg: any) => void) => {
    const cfg = parse(KIND_YAML);
    f(cfg);
    return JSON.stringify(cfg);
  };

  it.each([
    [
      "an API server on every interface",
      (c: any) => (c.networking.apiServerAddress = "0.0.0.0"),
      /apiServerAddress is 0\.0\.0\.0, not loopback/,
    ],
    ["an API server on the LAN", (c: any) => (c.networking.apiServerAddress = "192.168.1.20"), /apiServerAddress is 192\.168\.1\.20/],
    ["the edge on every interface", (c: any) => (c.nodes[0].extraPortMappings[0].listenAddress = "0.0.0.0"), /listenAddress is 0\.0\.0\.0/],
    [
      "a mapping without listenAddress (kind binds 0.0.0.0)",
      (c: any) => delete c.nodes[0].extraPortMappings[0].listenAddress,
      /listenAddress is unset \(0\.0\.0\.0\)/,
    ],
    ["no edge mapping", (c: any) => (c.nodes[0].extraPortMappings = []), /exactly one extraPortMapping of containerPort 30080/],
    ["another apiVersion", (c: any) => (c.apiVersion = "kind.x-k8s.io/v1alpha3"), /not a kind v1alpha4 Cluster config/],
  ])("%s", (_what, change, message) => {
    expect(() => kindConfigFor(edit(change), o)).toThrow(message);
    try {
      kindConfigFor(edit(change), o);
    } catch (err) {
      expect((err as { exitCode?: number }).exitCode).toBe(2);
    }
  });

  it("accepts another loopback address", () => {
    expect(
      parse(
        kindConfigFor(
          edit((c) => (c.networking.apiServerAddress = "127.0.0.2")),
          o,
        ),
      ).networking.apiServerAddress,
    ).toBe("127.0.0.2");
  });

  it.each([
    [{ ...o, name: "Release_Gate" }, /refused cluster name "Release_Gate"/],
    [{ ...o, name: "-x" }, /refused cluster name/],
    [{ ...o, edgePort: 7443 }, /--kube-api and --edge name the same port 7443/],
    [{ ...o, apiServerPort: 70000 }, /--kube-api port 70000: not a TCP port/],
  ])("refuses %o", (opts, message) => {
    expect(() => kindConfigFor(KIND_YAML, opts)).toThrow(message);
  });
});
