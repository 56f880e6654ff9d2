/** The artifact files of a run, beside manifest.json (their own module: readers need not load the packager). */
export const MODEL_ARTIFACT = 'model.tar.gz';
export const OUTPUT_ARTIFACT = 'output.tar.gz';
/** The container folders they are made of. */
export const MODEL_FOLDER = '/opt/ml/model';
export const OUTPUT_FOLDER = '/opt/ml/output/data';
export const ARTIFACT_FOLDERS = [MODEL_FOLDER, OUTPUT_FOLDER] as const;
