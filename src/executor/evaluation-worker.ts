/** Entry of a local pool thread (piscina calls the default export once per task). */
import { evaluateTask } from "./evaluate-task.js";

export default evaluateTask;
