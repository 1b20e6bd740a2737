package io.picotunnel.server.auth;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;

/** Something else that signs people in through the server's OIDC callback (a service's single sign-on). */
public interface OidcCallbackHook {

    /** Handles the callback and returns true when its {@code state} is one this hook started; else false. */
    boolean handle(Context ctx);

    /** Adds the hook's own routes to the management server. */
    default void install(JavalinConfig config) {
    }
}
