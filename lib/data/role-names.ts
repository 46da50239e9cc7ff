/**
 * The one table of the variable (dataset) names each image role goes by in .mat and .h5 files:
 * PanCollection's lower-case keys, the MATLAB toolbox's I_* names, upper-case variants, and the
 * names fused results are saved under. (I_MS is either the MS or the LMS: readers tell them apart
 * by size.)
 */
export type ImageRole = 'fused' | 'gt' | 'ms' | 'lms' | 'pan';

export const IMAGE_ROLE_NAMES: Readonly<Record<ImageRole, readonly string[]>> = {
  fused: ['sr', 'fused', 'I_F', 'I_Fus', 'output', 'out'],
  gt: ['gt', 'I_GT', 'GT'],
  ms: ['ms', 'I_MS_LR', 'MS'],
  lms: ['lms', 'I_MS_UP', 'LMS'],
  pan: ['pan', 'I_PAN', 'PAN'],
};
