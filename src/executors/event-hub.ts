import type { ExecutorEvent } from './types.js';

/** The listeners of one executor. A failing listener never breaks the executor or the others. */
export class EventHub {
  private readonly listeners: ((event: ExecutorEvent) => void)[] = [];

  on(listener: (event: ExecutorEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(event: ExecutorEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        // Reported as an uncaught error, after the other listeners had the event.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
