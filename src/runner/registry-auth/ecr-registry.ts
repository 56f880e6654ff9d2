/**
 * An ECR private registry's address, read from its host. AWS documents these forms:
 * `<account>.dkr.ecr.<region>.amazonaws.com`, its FIPS form `<account>.dkr.ecr-fips.<region>.amazonaws.com`,
 * China's `<account>.dkr.ecr.<region>.amazonaws.com.cn`, and the dual-stack (IPv6) `<account>.dkr-ecr.<region>.on.aws`.
 */
export interface EcrRegistry {
  accountId: string;
  region: string;
  /** Asked through the ECR API's FIPS endpoint. */
  fips: boolean;
  /** Asked through the ECR API's dual-stack endpoint. */
  dualStack: boolean;
}

const IPV4_FORM = /^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com(?:\.cn)?$/;
const DUAL_STACK_FORM = /^([0-9]{12})\.dkr-ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.on\.aws$/;

export function parseEcrRegistryHost(registryHost: string): EcrRegistry | undefined {
  const host = registryHost.toLowerCase().replace(/:443$/, '');
  for (const [form, dualStack] of [[IPV4_FORM, false], [DUAL_STACK_FORM, true]] as const) {
    const m = form.exec(host);
    if (m) return { accountId: m[1]!, region: m[3]!, fips: m[2] !== undefined, dualStack };
  }
  return undefined;
}
