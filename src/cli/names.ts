/**
 * botocore's xform_name: how the AWS CLI turns operation and member names into command and option
 * names (CreateMLInputChannel → create-ml-input-channel, volumeSizeInGB → volume-size-in-gb).
 */
export function kebabName(name: string): string {
  return name
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

export function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
