/** Who is signed in, the server's auth mode, and sign-in/out. */
import { createContext, useContext } from 'react';
import type { Health, Session } from '../api/types.js';

export interface SessionContext {
  session: Session;
  health: Health | undefined;
  canOperate: boolean;
  logout: () => void;
}

export const SessionCtx = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const s = useContext(SessionCtx);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}
