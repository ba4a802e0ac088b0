DROP TABLE payout_exchanges;
