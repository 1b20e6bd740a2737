package io.picotunnel.server.api;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;

import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;

/**
 * The management port has no WebSocket routes: a WebSocket upgrade request is answered as the plain HTTP request it
 * also is (RFC 6455 4.2.2: a server that does not upgrade answers as usual), through the API's guard, headers and
 * JSON errors. Javalin takes any request with {@code Sec-WebSocket-Version} to its WebSocket router instead, which
 * answered 404 "WebSocket handler not found" past every route's handler and opened a servlet session for it: a
 * {@code JSESSIONID} cookie the server never uses, and an entry in memory for each such request until it timed out.
 * This filter hides that header from Javalin.
 */
final class NoWebSocketUpgrades implements Filter {

    private static final String VERSION = "Sec-WebSocket-Version";

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (request instanceof HttpServletRequest http && http.getHeader(VERSION) != null) {
            chain.doFilter(new WithoutVersion(http), response);
            return;
        }
        chain.doFilter(request, response);
    }

    private static final class WithoutVersion extends HttpServletRequestWrapper {

        WithoutVersion(HttpServletRequest request) {
            super(request);
        }

        @Override
        public String getHeader(String name) {
            return VERSION.equalsIgnoreCase(name) ? null : super.getHeader(name);
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            return VERSION.equalsIgnoreCase(name) ? Collections.emptyEnumeration() : super.getHeaders(name);
        }

        @Override
        public Enumeration<String> getHeaderNames() {
            return Collections.enumeration(Collections.list(super.getHeaderNames()).stream()
                    .filter(name -> !VERSION.equalsIgnoreCase(name)).toList());
        }
    }
}
