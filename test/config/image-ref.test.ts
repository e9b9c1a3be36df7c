import { describe, expect, it } from "vitest";
import { imageRef, parseVersion, repositoryOf } from "#src/config/image-ref.ts";
import { parseDuration, formatDuration } from "#src/config/duration.ts";
import { UsageError } from "#src/errors.ts";

const digest = "sha256:" + "a".repeat(64);

describe("--tag validation", () => {
  it.each(["v1.2.4", "3f9c2a1", "1.0.0-rc.1", "_build", "A".repeat(128)])("accepts the OCI tag %s", (tag) => {
    expect(parseVersion(tag)).toEqual({ kind: "tag", value: tag });
  });

  it("accepts a sha256 digest", () => {
    expect(parseVersion(digest)).toEqual({ kind: "digest", value: digest });
  });

  it.each([
    ["v1; rm -rf /", '";"'],
    ["v1 2", '" "'],
    ["$(whoami)", '"$"'],
    ["v1'", `"'"`],
    ['v1"', '"\\""'],
    ["v1\nv2", '"\\n"'],
    ["v1`id`", '"`"'],
    ["-v1", "must start with"],
    ["", "empty"],
    ["A".repeat(129), "at most 128"],
    ["sha256:abc", "64 lowercase hex"],
  ])("refuses %j (%s) with exit 2", (tag, why) => {
    let caught: unknown;
    try {
      parseVersion(tag);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).message).toContain(why);
    expect((caught as UsageError).message).toContain("nothing was changed");
  });
});

describe("image references", () => {
  it.each([
    ["123456789012.dkr.ecr.us-east-1.amazonaws.com/qualisys-api:1.0.0", "123456789012.dkr.ecr.us-east-1.amazonaws.com/qualisys-api"],
    ["registry:5000/team/app", "registry:5000/team/app"],
    ["registry:5000/team/app:v2", "registry:5000/team/app"],
    [`nginx@${digest}`, "nginx"],
  ])("repository of %s is %s", (image, repo) => {
    expect(repositoryOf(image)).toBe(repo);
  });

  it("joins tags with ':' and digests with '@'", () => {
    expect(imageRef("r/app", { kind: "tag", value: "v2" })).toBe("r/app:v2");
    expect(imageRef("r/app", { kind: "digest", value: digest })).toBe(`r/app@${digest}`);
  });
});

describe("durations", () => {
  it("parses operator durations and formats them back", () => {
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("0.5s")).toBe(500);
    expect(parseDuration("2 minutes")).toBeUndefined();
    expect(parseDuration("")).toBeUndefined();
    expect(formatDuration(95_000)).toBe("1m 35s");
    expect(formatDuration(120_000)).toBe("2m");
  });
});
