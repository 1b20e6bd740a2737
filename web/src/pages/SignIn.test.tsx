import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { mockFetch } from '../test/fetchMock';
import { SignIn } from './SignIn';

describe('SignIn', () => {
  it('signs in with the admin token', async () => {
    const user = userEvent.setup();
    const calls = mockFetch({ 'POST /auth/token': { status: 200, body: { signed_in: true, method: 'token' } } });
    const onSignedIn = vi.fn();
    render(<SignIn session={{ signed_in: false, method: 'token' }} onSignedIn={onSignedIn} />);
    await user.type(screen.getByLabelText('Admin token'), 'secret{Enter}');
    expect(calls[0].body).toEqual({ token: 'secret' });
    expect(onSignedIn).toHaveBeenCalledWith({ signed_in: true, method: 'token' });
  });

  it('shows a wrong token next to the field', async () => {
    const user = userEvent.setup();
    mockFetch({ 'POST /auth/token': { status: 401, body: { error: 'unauthorized', message: 'That token is not the admin token.' } } });
    render(<SignIn session={{ signed_in: false, method: 'token' }} onSignedIn={vi.fn()} />);
    await user.type(screen.getByLabelText('Admin token'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('That token is not the admin token.');
    expect(screen.getByLabelText('Admin token').getAttribute('aria-invalid')).toBe('true');
  });

  it('shows why the last single sign-on failed, as the server says', () => {
    render(
      <SignIn
        session={{ signed_in: false, method: 'oidc', signin_error: 'Your account is not allowed to manage this server.' }}
        onSignedIn={vi.fn()}
      />,
    );
    expect(screen.getByRole('alert').textContent).toBe('Your account is not allowed to manage this server.');
  });

  it('shows no message a link put in its address', () => {
    // Anyone can send the operator such a link: its words must not appear on this server's sign-in page.
    window.history.replaceState(null, '', '/?signin_error=The+admin+token+was+rotated.+Get+the+new+one+at+evil.example');
    try {
      render(<SignIn session={{ signed_in: false, method: 'token' }} onSignedIn={vi.fn()} />);
      expect(screen.queryByRole('alert')).toBeNull();
      expect(document.body.textContent).not.toContain('evil.example');
    } finally {
      window.history.replaceState(null, '', '/');
    }
  });

  it('offers single sign-on when OIDC is configured', () => {
    render(<SignIn session={{ signed_in: false, method: 'oidc' }} onSignedIn={vi.fn()} />);
    expect(screen.getByRole('link', { name: 'Continue with single sign-on' }).getAttribute('href')).toMatch(/^\/auth\/login\?return_to=/);
    expect(screen.queryByLabelText('Admin token')).toBeNull();
  });
});
