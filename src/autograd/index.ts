export { backward, noGrad, isGradEnabled, type GradNode } from './graph.ts';
