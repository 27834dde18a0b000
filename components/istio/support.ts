import { given } from "../model";

/**
 * Which Kubernetes minors each Istio minor supports.
 *
 * Source: the "Support status of Istio releases" table at
 * https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases, which is
 * rendered from `data/compatibility/supportStatus.yml` in the istio/istio.io repository
 * (`k8sVersions` of each entry). The istio.io repository itself was too large to fetch here, so the
 * rows were read on 2026-11 from copies of that table:
 * - 1.27 (1.29-1.33) from `data/compatibility/supportStatus.yml` in an istio.io fork with the 1.27 entry;
 * - 1.26 (1.29-1.33), 1.28 (1.30-1.34), 1.29 (1.31-1.35) and the dates from endoflife.date's
 *   `products/istio.md`, which scrapes the table (the fork still showed 1.26 as 1.29-1.32, an earlier
 *   revision; upstream widened it, we keep the later row);
 * - 1.30 (1.32-1.36) from the project brief, matching IBM Cloud's add-on matrix for Istio 1.30
 *   (Kubernetes >=1.32.0 <1.37.0). Re-check this row against istio.io when touching the file.
 * The data is a plain table so that updating it is a one-line change reviewed against upstream.
 * Istio only states these as "supported"; other minors may work but are untested upstream.
 */

/** One Istio minor release line and the Kubernetes minors it supports. */
export interface IstioReleaseSupport {
    /** Kubernetes minors ("1.32") this Istio minor is supported on, ascending and contiguous. */
    kubernetes: string[];
    /** Date of the `.0` release (ISO 8601), as the upstream table gives it. */
    releaseDate: string;
    /** End of life (ISO 8601), or undefined while upstream only gives an expected date. */
    endOfLife?: string;
}

/** Supported Kubernetes minors per Istio minor ("1.30"); see the file comment for the source. */
export const ISTIO_SUPPORT: Readonly<Record<string, IstioReleaseSupport>> = {
    "1.26": { kubernetes: ["1.29", "1.30", "1.31", "1.32", "1.33"], releaseDate: "2025-05-08", endOfLife: "2025-12-22" },
    "1.27": { kubernetes: ["1.29", "1.30", "1.31", "1.32", "1.33"], releaseDate: "2025-08-11", endOfLife: "2026-03-30" },
    "1.28": { kubernetes: ["1.30", "1.31", "1.32", "1.33", "1.34"], releaseDate: "2025-11-05", endOfLife: "2026-05-31" },
    "1.29": { kubernetes: ["1.31", "1.32", "1.33", "1.34", "1.35"], releaseDate: "2026-02-16", endOfLife: "2026-08-31" },
    "1.30": { kubernetes: ["1.32", "1.33", "1.34", "1.35", "1.36"], releaseDate: "2026-05-18" },
};

/**
 * The Istio release installed when a stack does not choose one.
 *
 * 1.30.5 is the newest 1.30 patch with an upstream announcement that we could read
 * (istio.io "Announcing Istio 1.30.5", after 1.30.4 of 2026-08-27). The newest *git tag* visible in
 * our istio/istio snapshot (taken 2026-08-22) is 1.30.3; 1.30.4 and 1.30.5 were published after it.
 * Pin a patch, never "latest": the chart version and the image tag must move together, on purpose.
 */
export const DEFAULT_ISTIO_VERSION = "1.30.5";

const ISTIO_VERSION = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;
const KUBERNETES_VERSION = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$/;

/** "1.30.5" → "1.30"; undefined when the text is not an Istio release version (x.y.z, optional pre-release). */
export function istioMinor(istioVersion: string): string | undefined {
    const match = ISTIO_VERSION.exec(istioVersion);
    return match ? `${Number(match[1])}.${Number(match[2])}` : undefined;
}

/**
 * "1.33", "v1.33.2" or "1.33.0-eks-1" → "1.33"; undefined when it is not a Kubernetes version.
 * Accepts what `kubectl version` and managed clusters print, so a user can paste it.
 */
export function kubernetesMinor(kubernetesVersion: string): string | undefined {
    const match = KUBERNETES_VERSION.exec(kubernetesVersion);
    return match ? `${Number(match[1])}.${Number(match[2])}` : undefined;
}

/** "1.32-1.36" (or "1.32" for a single minor): how a supported range is shown to users. */
export function supportedRange(kubernetes: readonly string[]): string {
    const first = kubernetes[0];
    const last = kubernetes[kubernetes.length - 1];
    return first === last ? `${first}` : `${first}-${last}`;
}

/**
 * Checks an Istio release against a cluster's Kubernetes version, using {@link ISTIO_SUPPORT}.
 *
 * @returns undefined when the pair is supported upstream; otherwise a message for the user that
 *   names both versions and what is supported, e.g.
 *   `Istio 1.30.1 supports Kubernetes 1.32-1.36; the cluster is declared as 1.31`.
 */
export function checkIstioSupport(istioVersion: string, kubernetesVersion: string): string | undefined {
    const minor = istioMinor(istioVersion);
    if (minor === undefined) {
        return `${given(istioVersion)} is not an Istio release version; use major.minor.patch, e.g. ${DEFAULT_ISTIO_VERSION}`;
    }
    const support = ISTIO_SUPPORT[minor];
    if (support === undefined) {
        const known = Object.keys(ISTIO_SUPPORT).join(", ");
        return `Istio ${istioVersion} is not in the support matrix (known minors: ${known}); use one of them, or add ${minor} to components/istio/support.ts from istio.io's supported-releases table`;
    }
    const clusterMinor = kubernetesMinor(kubernetesVersion);
    if (clusterMinor === undefined) {
        return `${given(kubernetesVersion)} is not a Kubernetes version; use major.minor, e.g. ${support.kubernetes[support.kubernetes.length - 1]}`;
    }
    if (!support.kubernetes.includes(clusterMinor)) {
        return `Istio ${istioVersion} supports Kubernetes ${supportedRange(support.kubernetes)}; the cluster is declared as ${clusterMinor}`;
    }
    return undefined;
}
