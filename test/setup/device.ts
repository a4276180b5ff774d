// FSNN_DEVICE=cuda (npm run test:gpu) makes 'cuda' the default device for every test file.
import { setDefaultDevice } from '../../lib';

if (process.env.FSNN_DEVICE === 'cuda') setDefaultDevice('cuda');
