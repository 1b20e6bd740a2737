package io.picotunnel.protocol.ws;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A payload masked from any of its bytes on: the encoders mask from the payload's first byte (the client's frames) or
 * its thirteenth (behind the yamux header), both a turn of the key, so only this shows that the key is taken up where
 * the bytes already written left it.
 */
class MaskingTest {

    /** Where the frame is written: one buffer (masked through one view), or pieces (masked through its accessors). */
    enum Out {
        ONE_BUFFER(() -> Unpooled.directBuffer(16)),
        PIECES(Unpooled::compositeBuffer);

        final Supplier<ByteBuf> of;

        Out(Supplier<ByteBuf> of) {
            this.of = of;
        }
    }

    @ParameterizedTest
    @EnumSource(Out.class)
    void theRestIsMaskedFromTheKeysByteTheBytesAlreadyWrittenLeftItAt(Out kind) {
        Random random = new Random(kind.ordinal());
        for (MaskingWebSocketFrameEncoderTest.Payload form : MaskingWebSocketFrameEncoderTest.Payload.values()) {
            for (int written = 0; written <= 9; written++) {
                for (int restLength : new int[] {1, 3, 8, 13, 200}) {
                    byte[] payload = new byte[written + restLength];
                    random.nextBytes(payload);
                    ByteBuf rest = form.of.apply(Arrays.copyOfRange(payload, written, payload.length));
                    ByteBuf out = kind.of.get();
                    try {
                        int payloadStart = FrameHeaders.write(out, 0x82, payload.length, true);
                        out.writeBytes(payload, 0, written);

                        Masking.maskWithFreshKey(out, payloadStart, rest);

                        byte[] key = ByteBufUtil.getBytes(out, payloadStart - Masking.KEY_LENGTH, Masking.KEY_LENGTH);
                        byte[] unmasked = ByteBufUtil.getBytes(out, payloadStart, out.writerIndex() - payloadStart);
                        for (int i = 0; i < unmasked.length; i++) {
                            unmasked[i] ^= key[i % 4];
                        }
                        assertThat(unmasked).as("%s, %d bytes written, then %d", form, written, restLength)
                                .isEqualTo(payload);
                    } finally {
                        out.release();
                        rest.release();
                    }
                }
            }
        }
    }
}
