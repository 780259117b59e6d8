export { TreeExplainer, topReasons } from './tree-shap.js'
export { LinearExplainer } from './linear-explainer.js'
export type { Explainer, Reason, TreeEnsemble, TreeNodes } from './types.js'
