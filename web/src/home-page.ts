/** The landing page: navigation, and a check that WebGPU starts here (the adapter it found, or why not). */
import { navBar, startGpu, banner, errorText } from './common.ts';

navBar('index.html');
startGpu().catch((e) => banner(errorText(e), 'error'));
