package io.picotunnel.protocol.yamux;

/** What tests in other packages may read of a {@link TotalBufferBudget} beyond its public face. */
public final class TotalBufferBudgetProbe {

    private TotalBufferBudgetProbe() {
    }

    /** Sessions sharing {@code budget}: open ones, and ended ones whose streams still hold bytes. */
    public static int sessionCount(TotalBufferBudget budget) {
        return budget.sessionCount();
    }
}
