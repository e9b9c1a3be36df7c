/** The released-tag annotation is believed only for the very digest it was written with. */
import { describe, expect, it } from "vitest";
import { RELEASED_TAG_ANNOTATION } from "#src/kube/labels.ts";
import { releasedTagAnnotations, releasedTagOf } from "#src/kube/released-tag.ts";

const D1 = `sha256:${"1".repeat(64)}`;
const D0 = `sha256:${"0".repeat(64)}`;
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/qualisys-api";

describe("releasedTagOf", () => {
  const promoted = releasedTagAnnotations("1.1.0", D1);

  it("is the tag while the image is the digest promotion pinned", () => {
    expect(promoted).toEqual({ [RELEASED_TAG_ANNOTATION]: `1.1.0@${D1}` });
    expect(releasedTagOf(promoted, `${REPO}@${D1}`)).toBe("1.1.0");
  });

  it.each([
    ["a manifest re-applied by tag (kubectl apply -k keeps an annotation it never set)", `${REPO}:1.0.0`],
    ["a manifest re-applied pinned to another digest (kustomize images: digest)", `${REPO}@${D0}`],
    ["no image", undefined],
  ])("is nothing for %s", (_what, image) => {
    expect(releasedTagOf(promoted, image)).toBeUndefined();
  });

  it("reads an annotation written before it named its digest (a bare tag) only while stable is pinned by digest", () => {
    const legacy = { [RELEASED_TAG_ANNOTATION]: "1.1.0" };
    expect(releasedTagOf(legacy, `${REPO}@${D1}`)).toBe("1.1.0");
    expect(releasedTagOf(legacy, `${REPO}:1.0.0`)).toBeUndefined();
  });

  it("is nothing for an annotation with no tag, or none at all", () => {
    expect(releasedTagOf({ [RELEASED_TAG_ANNOTATION]: `@${D1}` }, `${REPO}@${D1}`)).toBeUndefined();
    expect(releasedTagOf(undefined, `${REPO}@${D1}`)).toBeUndefined();
  });
});
