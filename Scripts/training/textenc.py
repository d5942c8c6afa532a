"""Text conditioning contract (the Swift engine reproduces exactly this).

MiniLM = sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384, uncased WordPiece).
  tokens  = WordPiece(lowercased prompt), [CLS] ... [SEP], truncated to MAX_TOKENS=32 (incl. specials)
  states  = last_hidden_state [L, 384], L = number of tokens (<= 32); batches are right-padded to 32
            with attention mask 1 = real token, 0 = padding; padded rows are set to 0.
  pooled  = L2-normalise( sum_l states[l] * mask[l] / sum_l mask[l] )  [384]  (== sentence-transformers embedding)
  Unconditional (classifier-free guidance) = encode("")  -> tokens [CLS][SEP], L = 2.
"""
import torch
import torch.nn.functional as Fn

MAX_TOKENS = 32


class MiniLMText:
    def __init__(self, text_encoder_dir, tokenizer_dir, device="cpu"):
        from transformers import BertModel
        try:
            from transformers import BertTokenizerFast as Tok
        except ImportError:  # pragma: no cover
            from transformers import AutoTokenizer as Tok
        self.tok = Tok.from_pretrained(tokenizer_dir)
        self.model = BertModel.from_pretrained(text_encoder_dir, add_pooling_layer=False).float().eval().to(device)
        self.device = device

    @torch.no_grad()
    def encode(self, prompts, batch=512):
        states, masks, pooled = [], [], []
        for i in range(0, len(prompts), batch):
            t = self.tok(list(prompts[i:i + batch]), max_length=MAX_TOKENS, truncation=True,
                         padding="max_length", return_tensors="pt")
            ids = t["input_ids"].to(self.device)
            m = t["attention_mask"].to(self.device)
            h = self.model(input_ids=ids, attention_mask=m, token_type_ids=torch.zeros_like(ids)).last_hidden_state.float()
            mf = m.unsqueeze(-1).float()
            h = h * mf
            p = h.sum(1) / mf.sum(1).clamp(min=1e-9)
            states.append(h); masks.append(m); pooled.append(Fn.normalize(p, dim=-1))
        return torch.cat(states), torch.cat(masks), torch.cat(pooled)
