import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { behaviourForImage, loadScenarioFile, parseScenario } from "../../scenario.ts";

const dir = join(import.meta.dirname, "../../scenarios");

describe("scenario", () => {
  it.each(readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)))("example %s is valid", (file) => {
    const s = loadScenarioFile(join(dir, file));
    expect(s.objects.length).toBeGreaterThan(0);
  });

  it("picks the first matching rule by tag or by full image glob, else the defaults", () => {
    const s = parseScenario({
      defaults: { pod: { kind: "ready", readyAfterSeconds: 5 } },
      images: [
        { image: "ghcr.io/acme/*:2.*", pod: { kind: "crashLoop" } },
        { tag: "2.*", pod: { kind: "neverReady" }, app: { version: "two" } },
      ],
    });
    expect(behaviourForImage(s, "ghcr.io/acme/web:2.1").pod.kind).toBe("crashLoop");
    expect(behaviourForImage(s, "docker.io/other/web:2.1")).toMatchObject({ pod: { kind: "neverReady" }, version: "two" });
    expect(behaviourForImage(s, "web:1.0")).toMatchObject({ pod: { kind: "ready", readyAfterSeconds: 5 }, version: "1.0" });
  });

  it("names every invalid field by its path", () => {
    const attempt = () =>
      parseScenario({
        timeScale: { msPerSecond: 0 },
        images: [{ tag: "x", pod: { kind: "explode" } }, { pod: { kind: "ready" } }],
        edge: { controller: "traefik" },
        faults: [{ fault: { type: "status", code: 418 } }],
      });
    expect(attempt).toThrow(/timeScale\.msPerSecond/);
    expect(attempt).toThrow(/images\[0\]\.pod\.kind/);
    expect(attempt).toThrow(/set exactly one of image or tag[\s\S]*images\[1\]/);
    expect(attempt).toThrow(/edge\.controller/);
    expect(attempt).toThrow(/faults\[0\]\.fault\.code/);
  });
});
