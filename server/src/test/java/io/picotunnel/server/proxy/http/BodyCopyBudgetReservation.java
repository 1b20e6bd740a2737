package io.picotunnel.server.proxy.http;

/** Bytes of a server's {@link BodyCopyBudget} taken as if bodies kept them, for tests elsewhere; given back at close. */
public final class BodyCopyBudgetReservation implements AutoCloseable {

    private final BodyCopyBudget budget;
    private final long bytes;

    /** Takes all but {@code left} bytes of {@code budget}'s limit, which holds nothing yet. */
    public static BodyCopyBudgetReservation allBut(BodyCopyBudget budget, long left) {
        long bytes = budget.limit() - left;
        if (budget.held() != 0 || !budget.take(bytes)) {
            throw new IllegalStateException("the budget holds " + budget.held() + " bytes already");
        }
        return new BodyCopyBudgetReservation(budget, bytes);
    }

    private BodyCopyBudgetReservation(BodyCopyBudget budget, long bytes) {
        this.budget = budget;
        this.bytes = bytes;
    }

    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        budget.giveBack(bytes);
    }
}
